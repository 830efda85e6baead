import sys

try:
    from agentd.cli import main
except KeyboardInterrupt:  # Ctrl-C while the interpreter was still starting
    sys.exit(130)

sys.exit(main())
