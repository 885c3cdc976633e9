module github.com/phonecheck/phonecheck/checker/internal/sha512x8/_asm

go 1.26.8
