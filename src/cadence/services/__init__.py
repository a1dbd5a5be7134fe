"""Use cases shared by the JSON API, the CLI and (later) the pages and reports. No SQL here: ports only."""
