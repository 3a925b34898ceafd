// Package integration holds end-to-end tests that drive the whole engine
// (submit, monitor, arrays, cancel, reconnect, the capi command) against
// real schedulers: SLURM and Grid Engine started by scripts/ (build tag
// "integration"), LSF through the fake bsub/bjobs/bkill of internal/fakelsf
// (always), and a live LSF cluster when opted in (CAPI_LSF_LIVE=1).
package integration
