module example.com/lab/slugd

go 1.24

require lab.example/textutil v0.1.0
