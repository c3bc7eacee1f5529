module jiannuo

go 1.26.8

require (
	github.com/6tail/lunar-go v1.4.7 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/hashicorp/serf v0.11.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
