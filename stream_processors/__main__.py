from stream_processors.cli import main

raise SystemExit(main())
