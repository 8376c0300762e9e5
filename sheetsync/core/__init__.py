"""Pure rules: config schema, rows → leads, Meta's normalisation, the plan, texts for people.

Nothing here does I/O or reads a clock: every input comes in as an argument, so each
module is tested with tables and Hypothesis properties (docs/DESIGN.md, "Layers").
"""
