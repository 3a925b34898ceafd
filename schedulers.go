package clusterapi

import (
	"sort"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/local"
	"github.com/go-cluster-api/clusterapi/scheduler/lsf"
	"github.com/go-cluster-api/clusterapi/scheduler/sge"
	"github.com/go-cluster-api/clusterapi/scheduler/slurm"
)

// schedulerFactories is the one table of batch systems capi knows, by the
// name used in the executor key. Scheduler packages never import this one.
var schedulerFactories = map[string]scheduler.Factory{
	"local": func(o scheduler.Options) (scheduler.Scheduler, error) { return local.New(o) },
	"lsf":   func(o scheduler.Options) (scheduler.Scheduler, error) { return lsf.New(o) },
	"slurm": func(o scheduler.Options) (scheduler.Scheduler, error) { return slurm.New(o) },
	"sge":   func(o scheduler.Options) (scheduler.Scheduler, error) { return sge.New(o) },
}

// ExecutorNames lists the executor names capi knows.
func ExecutorNames() []string {
	names := make([]string, 0, len(schedulerFactories))
	for n := range schedulerFactories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
