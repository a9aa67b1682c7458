"""The study's stages as functions of plain paths and values, one module per stage.

Each function here is what one workflow rule runs: it reads its inputs, does the
work through the rest of the package and writes its outputs atomically. None of
them knows about Snakemake, so each can be run and tested on its own. A stage's
module imports only what that stage uses: the workflow derives each rule's code
dependencies from these imports (``twolayer.codedeps``), so nothing is imported here.
"""
