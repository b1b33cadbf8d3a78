# batchledger — developer entry points. The scripts do the work; see scripts/*.sh.
SHELL := /bin/bash
# Go lives at /usr/local/go on our machines; make it reachable from a bare PATH too.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: demo test up down status env build fmt vet worker-start worker-stop

demo: ## stack up, worker, one batch over examples/ (stack stays up)
	bash scripts/demo.sh

test: ## stack up, gofmt, vet, workflowcheck, go test with BATCHLEDGER_E2E=1
	bash scripts/test.sh

up: ## start Temporal, Azurite, PostgreSQL and the simulator (idempotent)
	bash scripts/stack.sh up

down: ## stop everything the stack started
	bash scripts/stack.sh down

status:
	bash scripts/stack.sh status

env: ## print export lines: eval "$$(make -s env)"
	@bash scripts/stack.sh env

worker-start:
	bash scripts/stack.sh worker-start

worker-stop:
	bash scripts/stack.sh worker-stop

build:
	go build ./...

fmt:
	go fmt ./...

vet:
	go vet ./...
