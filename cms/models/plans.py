"""The yearly plan, the organisation units it names, and its campaigns."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.types import UTCDateTime, utcnow

CAMPAIGN_STATUSES = ("draft", "planned", "approved", "running", "done", "accepted")


class CampaignPartner(db.Model):
    """A coordinating unit of a campaign, in the order the plan names them."""

    __tablename__ = "campaign_partners"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[OrgUnit] = relationship()


class Plan(db.Model):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    issuing_body: Mapped[str] = mapped_column(String(300), default="")
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    basis: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaigns: Mapped[list[Campaign]] = relationship(back_populates="plan", order_by="Campaign.number")


class OrgUnit(db.Model):
    """A department unit or partner body named in a plan (phòng, sở, UBND...)."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    # Case- and space-insensitive identity, so "Phòng Quản lý  môi trường" is one unit.
    key: Mapped[str] = mapped_column(String(500), unique=True)


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_campaigns_plan_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), nullable=True, index=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(Text)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    form_text: Mapped[str] = mapped_column(Text, default="")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    # True once a person edited the channels: re-imports then leave them alone.
    channels_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    period_text: Mapped[str] = mapped_column(String(300), default="")
    period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The period phrase could not be read: a person must set the dates.
    period_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # True once a person set the dates: re-imports keep them while the phrase stays the same.
    period_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    plan: Mapped[Plan | None] = relationship(back_populates="campaigns")
    lead_unit: Mapped[OrgUnit | None] = relationship()
    partner_links: Mapped[list[CampaignPartner]] = relationship(
        order_by="CampaignPartner.position", cascade="all, delete-orphan"
    )

    @property
    def partner_units(self) -> list[OrgUnit]:
        return [link.unit for link in self.partner_links]
