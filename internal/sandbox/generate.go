package sandbox

//go:generate go run ./gencalls
