"""Customer operations: create or merge by phone, find by channel binding."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics.customers.models import ChannelBinding, Customer, CustomerIn


def get(*, session: Session, customer_id: int) -> Customer | None:
    """Return a customer by id."""
    return session.get(Customer, customer_id)


def get_by_phone(*, session: Session, phone: str) -> Customer | None:
    """Return the customer who owns a phone number."""
    return session.execute(select(Customer).where(Customer.phone == phone)).scalar_one_or_none()


def get_by_binding(*, session: Session, channel: str, external_id: str) -> Customer | None:
    """Return the customer a channel identity (sender id, WeChat openid) is bound to."""
    query = select(Customer).join(ChannelBinding).where(
        ChannelBinding.channel == channel, ChannelBinding.external_id == external_id
    )
    return session.execute(query).scalar_one_or_none()


def create_or_merge(*, session: Session, data: CustomerIn) -> tuple[Customer, bool]:
    """Create a customer, or merge name and bindings into the one with the same phone."""
    customer = get_by_phone(session=session, phone=data.phone)
    created = customer is None
    if created:
        customer = Customer(phone=data.phone, name=data.name)
        session.add(customer)
        session.flush()
    elif data.name:
        customer.name = data.name
    for binding in data.bindings:
        bind(session=session, customer=customer, channel=binding.channel, external_id=binding.external_id)
    session.flush()
    return customer, created


def bind(*, session: Session, customer: Customer, channel: str, external_id: str) -> ChannelBinding:
    """Bind a channel identity to a customer; a browser or openid that logs in again moves over."""
    existing = session.execute(
        select(ChannelBinding).where(ChannelBinding.channel == channel, ChannelBinding.external_id == external_id)
    ).scalar_one_or_none()
    if existing is None:
        existing = ChannelBinding(customer_id=customer.id, channel=channel, external_id=external_id)
        session.add(existing)
    else:
        existing.customer_id = customer.id
    session.flush()
    return existing
