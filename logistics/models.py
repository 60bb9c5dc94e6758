"""Imports every table so Alembic and create_all see the whole schema."""
from logistics.analytics.models import Alert, AnalyticsEvent  # noqa: F401
from logistics.customers.models import ChannelBinding, Customer  # noqa: F401
from logistics.handoffs.models import Agent, Handoff, HandoffMessage  # noqa: F401
from logistics.network.models import Facility, Incident  # noqa: F401
from logistics.shipments.models import Shipment, TailAttempt, TrackingEvent  # noqa: F401
from logistics.tickets.models import Evidence, Ticket, TicketEvent  # noqa: F401
from logistics.web.models import OtpCode  # noqa: F401
