package dbkit

import (
	"go.opentelemetry.io/otel/trace"
	"gorm.io/plugin/opentelemetry/tracing"

	"github.com/covetgo/covet/errs"
)

// enableTracing installs GORM's OpenTelemetry plugin when tp is set: one
// client span per statement (named by the operation and table, e.g.
// "select users"), a child of the span in the statement's context, with
// the SQL text as written (placeholders, never the bound parameters), the
// database system, the rows affected, and the error of a failed
// statement. The plugin's own pool metrics stay off: Config.Registerer
// already exports them to Prometheus. With tp nil nothing is installed,
// and statements cost what they did without tracing.
func (d *DB) enableTracing(tp trace.TracerProvider) error {
	if tp == nil {
		return nil
	}
	plugin := tracing.NewPlugin(
		tracing.WithTracerProvider(tp),
		tracing.WithoutQueryVariables(),
		tracing.WithoutMetrics(),
	)
	if err := d.gorm.Use(plugin); err != nil {
		return errs.Configf("dbkit: installing the tracing plugin failed: %v", err)
	}
	return nil
}
