module github.com/covetgo/covet/compress

go 1.26.0

replace github.com/covetgo/covet => ../

require (
	github.com/covetgo/covet v0.0.0-00010101000000-000000000000
	github.com/klauspost/compress v1.20.4
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-chi/chi/v5 v5.5.0 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
)
