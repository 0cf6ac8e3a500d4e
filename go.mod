module github.com/breakerlabs/breaker

go 1.26.8

require (
	github.com/benbjohnson/clock v1.3.5 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
