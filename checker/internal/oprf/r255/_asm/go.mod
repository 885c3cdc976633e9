module github.com/phonecheck/phonecheck/checker/internal/oprf/r255/_asm

go 1.26.8
