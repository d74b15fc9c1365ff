"""Plain-Python basics every layer uses: errors and exit codes, the identifier rule, the job protocol lines,
stage timing, path templates and the plugin rule. Nothing here imports Spark, the config or ctrflow's
other packages."""
