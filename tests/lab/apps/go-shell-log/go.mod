module example.com/lab/shelllog

go 1.24
