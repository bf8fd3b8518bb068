package migrate

import (
	"testing"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/internal/dbtest"
	"github.com/covetgo/covet/dbkit/internal/opendb"
)

func tkNoLeaks(t *testing.T)                                     { dbtest.NoLeaks(t) }
func tkPostgresDB(t testing.TB, name string) string              { return dbtest.PostgresDB(t, name) }
func tkMySQLDB(t testing.TB, name string) string                 { return dbtest.MySQLDB(t, name) }
func tkSQLitePath(t testing.TB) string                           { return dbtest.SQLitePath(t) }
func tkOpen(t testing.TB, cfg dbkit.Options) *dbkit.DB           { return opendb.Open(t, cfg) }
func tkAll(t *testing.T, name string) map[dbkit.Driver]*dbkit.DB { return opendb.All(t, name) }
