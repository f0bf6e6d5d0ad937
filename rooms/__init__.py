"""WebRTC rooms: one SFU room per live hearing, forwarding encoded frames without transcoding."""

from rooms.manager import RoomManager
from rooms.participant import MediaOptions
from rooms.room import Room

__all__ = ["MediaOptions", "Room", "RoomManager"]
