module github.com/sipoauth/sdk

go 1.26
