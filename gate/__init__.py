"""The Raspberry Pi gate controller: frames → QR → decide() → store → relay, and a sync loop to the server."""
