"""Native REST routes, one module per resource; each exposes an ``APIRouter`` named ``router``."""
