"""The designer's workbench: see a journey (`diagram`), compare two versions (`diff`),
and read the messages it would send (`preview`), without running it."""
