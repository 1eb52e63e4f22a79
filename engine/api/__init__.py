"""The engine's API: its services over a Unix socket (and HTTP), for thin clients.

`codec` is shared by both ends (values and errors on the wire), `verbs` is the allow-list
of what a client may call, `server` serves them, `peer` tells who is on the other end of
the socket. The client lives in engine/client.py."""
