package dbkit

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/covetgo/covet/errs"
)

// register exports sql.DBStats of every pool (go_sql_* metrics labelled
// db_name: the DB's name, and name_replica_N for replicas) and, with
// replicas, dbkit_replica_up{db,replica}.
func (d *DB) register() error {
	cs := []prometheus.Collector{collectors.NewDBStatsCollector(d.sql, d.name)}
	if d.replicas != nil {
		for i, r := range d.replicas.members {
			label := strconv.Itoa(i)
			cs = append(cs,
				collectors.NewDBStatsCollector(r.sql, replicaName(d.name, i)),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{
					Name:        "dbkit_replica_up",
					Help:        "1 when the read replica passes its health check and takes reads, 0 when its reads go to the primary.",
					ConstLabels: prometheus.Labels{"db": d.name, "replica": label},
				}, func() float64 {
					if r.healthy.Load() {
						return 1
					}
					return 0
				}))
		}
	}
	for _, c := range cs {
		if err := d.reg.Register(c); err != nil {
			for _, done := range d.collectors {
				d.reg.Unregister(done)
			}
			d.collectors = nil
			return errs.Configf("dbkit: registering the metrics of %q failed (is another DB open with the same Name?): %v", d.name, err)
		}
		d.collectors = append(d.collectors, c)
	}
	return nil
}
