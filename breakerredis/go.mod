module github.com/breakerlabs/breaker/breakerredis

go 1.26.8

replace github.com/breakerlabs/breaker => ../

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/breakerlabs/breaker v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	go.uber.org/goleak v1.3.0
)
