module papaya-bench/goroutines

go 1.22
