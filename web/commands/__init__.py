"""`justif` sub-commands, one module per area (listed in web.cli.COMMAND_MODULES)."""
