package clusterapi

import (
	"sort"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/local"
)

// schedulerFactories is the one table of batch systems capi knows, by the
// name used in the executor key. Scheduler packages never import this one.
var schedulerFactories = map[string]scheduler.Factory{
	"local": func(o scheduler.Options) (scheduler.Scheduler, error) { return local.New(o) },
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
