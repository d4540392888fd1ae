module example.com/lab/gohttp

go 1.24
