"""Socket.IO signaling for live hearings, and the aiortc site agent."""
