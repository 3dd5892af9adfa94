module papaya-bench/goswitch

go 1.22
