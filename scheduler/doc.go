// Package scheduler is the contract between the capi engine (package
// clusterapi) and the batch systems it drives.
//
// A scheduler package (scheduler/local, scheduler/lsf, scheduler/slurm,
// scheduler/sge) implements [Scheduler]: it knows its commands, its script
// directives and its output formats, and nothing else. Everything that is the
// same for every batch system — tracking, polling cadence, array roll-up,
// zombie detection, callbacks, the durable store and submit retries — lives in
// the engine, once.
//
// This package imports only the standard library, so that scheduler packages
// and the engine can both depend on it without cycles. The root package
// re-exports its value types with type aliases.
package scheduler
