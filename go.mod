module jiannuo

go 1.26.8

require (
	github.com/6tail/lunar-go v1.4.7
	github.com/gorilla/websocket v1.5.3
	go.etcd.io/bbolt v1.5.0
	golang.org/x/crypto v0.59.0
)

require golang.org/x/sys v0.50.0 // indirect
