#!/usr/bin/env bash
# One prompt through agentd from bash: the daemon runs as a coprocess speaking NDJSON (one JSON
# value per line), jq builds and reads the messages. The answer streams to stdout.
#
#   examples/bash/agentd-chat.sh "what is in the README?"
#   AGENTD="python -m agentd" examples/bash/agentd-chat.sh hello    # another way to start it
#
# Exit status: 0 completed, 1 failed, 130 interrupted (Ctrl-C interrupts the turn cleanly).
set -euo pipefail

prompt=${1:?usage: agentd-chat.sh PROMPT}
command -v jq >/dev/null || { echo "agentd-chat.sh needs jq" >&2; exit 2; }
read -r -a agentd <<<"${AGENTD:-agentd}"

coproc DAEMON { exec "${agentd[@]}" serve --framing ndjson; }
to_daemon=${DAEMON[1]}
from_daemon=${DAEMON[0]}

request() {  # request ID METHOD PARAMS_JSON
  jq -cn --argjson id "$1" --arg method "$2" --argjson params "$3" \
    '{jsonrpc: "2.0", id: $id, method: $method, params: $params}' >&"$to_daemon"
}

# Coprocess descriptors are closed in subshells, so reading happens in this shell and results are
# handed back in a variable instead of through $(...).
response() {  # response ID: sets RESULT to the result of request ID (events before it skipped)
  local line
  while IFS= read -r line <&"$from_daemon"; do
    if jq -e --argjson id "$1" '.id == $id' <<<"$line" >/dev/null; then
      if jq -e 'has("error")' <<<"$line" >/dev/null; then
        jq -r '"agentd: " + .error.message' <<<"$line" >&2
        return 1
      fi
      RESULT=$(jq -c '.result' <<<"$line")
      return 0
    fi
  done
  echo "agentd exited" >&2
  return 1
}

request 1 session.create '{}'
response 1
session_id=$(jq -r '.session_id' <<<"$RESULT")
trap 'request 99 session.interrupt "$(jq -cn --arg s "$session_id" "{session_id: \$s}")"' INT
request 2 session.send "$(jq -cn --arg s "$session_id" --arg t "$prompt" '{session_id: $s, text: $t}')"
response 2
turn_id=$(jq -r '.turn_id' <<<"$RESULT")

status="" separator="" printed=""
while IFS= read -r line <&"$from_daemon"; do
  # one jq per message: the event's type, its turn (or message kind) and a chunk's text as JSON,
  # separated by US (0x1f) so that empty fields survive read
  IFS=$'\x1f' read -r type detail text < <(jq -r 'select(.method == "event") | .params
    | [.type, (.payload.turn_id // .payload.message.kind // ""),
       (.payload.chunk.answerText // "" | @json)] | join("\u001f")' <<<"$line")
  case ${type:-} in
    session.stream.chunk)
      printf '%s' "$separator"; separator=""; printed=1
      jq -j '.' <<<"$text" ;;
    session.message.appended)  # each model round is its own message: a blank line between
      [[ $detail == assistant && -n $printed ]] && separator=$'\n\n' ;;
    session.completed) [[ $detail == "$turn_id" ]] && status=0 ;;
    session.error) [[ $detail == "$turn_id" ]] && status=1 ;;
    session.interrupted) [[ $detail == "$turn_id" ]] && status=130 ;;
    session.status) [[ -n $status ]] && break ;;
  esac
done
echo

exec {to_daemon}>&-  # stdin EOF: the daemon flushes its history and exits
wait "$DAEMON_PID" || true
exit "${status:-1}"
