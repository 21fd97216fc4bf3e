"""The ports the stack gives its processes (`hub_cli.stack.free_port`) must stay theirs until they bind them: a port
from the kernel's range for outgoing connections can meanwhile be handed to one of the client connections the tests
and services open by the hundred (a service then failed to start with "address already in use")."""

import socket

from hub_cli.stack import _ephemeral_range_start, free_port


def test_a_free_port_is_below_the_range_outgoing_connections_draw_from_and_can_be_bound() -> None:
    low = _ephemeral_range_start()
    ports = {free_port() for _ in range(50)}
    assert all(10_000 <= port < low for port in ports)
    assert len(ports) > 40, "drawn at random, so processes started together do not get the same port"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports.pop()))


def test_a_port_something_listens_on_is_never_given() -> None:
    listeners = []
    try:
        for _ in range(300):  # occupy a good share of the candidates, then ask
            listener = socket.socket()
            listener.bind(("127.0.0.1", free_port()))
            listener.listen()
            listeners.append(listener)
        taken = {listener.getsockname()[1] for listener in listeners}
        assert len(taken) == 300
        assert all(free_port() not in taken for _ in range(200))
    finally:
        for listener in listeners:
            listener.close()
