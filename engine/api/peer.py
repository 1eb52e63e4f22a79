"""Who is on the other end of a Unix socket: the kernel says (SO_PEERCRED), not the peer.

The credentials are those of the process that connected, taken by the kernel at connect
time; nothing the client sends (a header, a field, its environment) changes them."""

from __future__ import annotations

import pwd
import socket
import struct
from dataclasses import dataclass
from typing import Any

from engine.errors import PermissionDenied


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int

    @property
    def username(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            raise PermissionDenied(
                f"uid {self.uid} has no account name (no passwd entry); the engine needs one "
                "to know who you are"
            ) from None


def peer_of(sock: socket.socket) -> Peer | None:
    """The connected process's credentials, or None for a socket that is not AF_UNIX."""
    if sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


def _uvicorn_protocol() -> Any:
    """uvicorn's h11 protocol, with each connection's peer put into every request's scope.

    uvicorn builds the ASGI scope itself and has no hook for it; the protocol instance is
    per connection, so wrapping its app there tags every request on that connection."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class PeerH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            peer = peer_of(sock) if sock is not None else None
            inner = self.app

            async def app(scope: Any, receive: Any, send: Any) -> None:
                scope["sadeem.peer"] = peer  # set last: a client cannot put it there
                await inner(scope, receive, send)

            self.app = app

    return PeerH11Protocol
