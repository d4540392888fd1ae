module example.com/lab/notes

go 1.24
