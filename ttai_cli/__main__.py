from ttai_cli.app import main

raise SystemExit(main())
