.PHONY: test test-v test-cov lint fmt check test-integration

test:
	go test ./...

test-v:
	go test -v ./...

test-cov:
	go test -coverprofile=coverage.out ./...
	go tool cover -html=coverage.out -o coverage.html
	go tool cover -func=coverage.out | tail -n 1

lint:
	go vet ./...
	go tool staticcheck ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

check: lint
	go test -race ./...

test-integration:
	bash .ci/integration
