"""The sweep engine: `start` begins or resumes a run once, `plan` says what is left to do (the typed SampleKey,
the units), `record` stores each sample and keeps the tally, `guard` enforces --max-cost, and the executors
(`pool`: the worker pool; `batch`: provider batch APIs) send the requests. Import from the modules; this package
file imports nothing, so a low-level module (the store) can use `sweep.plan` without pulling in the engine."""
