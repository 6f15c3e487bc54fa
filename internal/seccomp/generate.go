package seccomp

//go:generate go run ./gensyscalls ../../policy/zsyscalls.go
