"""Benchmarks of the hub (`tcd-hub bench api|sfu`): they measure and print JSON, never judge.

They drive the hub as a client or an operator would, through its public interfaces: the HTTP
API, `create_app`, the services and `RoomManager.stats()`, so the hub's insides stay its own.
"""
