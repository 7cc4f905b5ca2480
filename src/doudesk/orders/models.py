"""Orders, their events, groups (packages, plans), refills and idempotency records."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doudesk.languages import english_active
from doudesk.wallet.money import charge_fen, prorate_fen


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("等待中")
    IN_PROGRESS = "in_progress", _("进行中")
    PROCESSING = "processing", _("处理中")
    COMPLETED = "completed", _("已完成")
    PARTIAL = "partial", _("部分完成")
    CANCELED = "canceled", _("已取消")


TERMINAL_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED)


#: ``OrderGroup.hold_ref`` read back: the group's id from its hold's journal reference.
GROUP_HOLD_REF = re.compile(r"group:(\d+):hold")


class OrderGroup(models.Model):
    """Orders placed together in one transaction (a package, a growth plan, a matched plan)."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT)
    kind = models.CharField(max_length=20)
    label = models.CharField(max_length=100)
    #: The label in English (shown on English pages; ``label`` is Chinese).
    label_en = models.CharField(max_length=100, blank=True, default="")
    total_fen = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("订单组")
        verbose_name_plural = pgettext_lazy("many", "订单组")

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def name(self) -> str:
        """The label in the active language (groups from before ``label_en`` show ``label``)."""
        return self.label_en if english_active() and self.label_en else self.label

    @property
    def hold_ref(self) -> str:
        """The journal reference of the one hold of the group's funds."""
        return f"group:{self.pk}:hold"


class Order(models.Model):
    customer = models.ForeignKey(
        "accounts.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="orders"
    )
    module = models.ForeignKey(
        "catalog.ServiceModule", verbose_name=_("服务模块"), on_delete=models.PROTECT
    )
    group = models.ForeignKey(
        OrderGroup,
        verbose_name=_("订单组"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    quote = models.OneToOneField(
        "pricing.Quote",
        verbose_name=_("报价"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order",
    )
    target = models.CharField(_("目标"), max_length=300, blank=True)
    target_kind = models.CharField(_("链接类型"), max_length=10)
    quantity = models.PositiveIntegerField(_("数量"))
    unit_rate = models.DecimalField(_("单价（元/千）"), max_digits=12, decimal_places=4)
    charge_fen = models.BigIntegerField(_("订单金额（分）"))
    options = models.JSONField(_("投放设置"), default=dict, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING,
        db_index=True,
    )
    provider = models.ForeignKey(
        "providers.Provider", verbose_name=_("服务商"), on_delete=models.PROTECT
    )
    external_id = models.CharField(_("服务商订单号"), max_length=64, blank=True, db_index=True)
    dispatch_claimed_at = models.DateTimeField(_("提交服务商时间"), null=True, blank=True)
    # Set when the provider may have taken the order without answering (a timeout): it is never
    # sent again automatically; an operator checks with the provider and reconciles.
    dispatch_uncertain_at = models.DateTimeField(_("提交待核实时间"), null=True, blank=True)
    scheduled_for = models.DateTimeField(_("计划开始"), null=True, blank=True)
    start_count = models.BigIntegerField(_("初始数"), null=True, blank=True)
    delivered = models.PositiveIntegerField(_("已交付数量"), default=0)
    remains = models.PositiveIntegerField(_("剩余数量"), null=True, blank=True)
    provider_cost_fen = models.BigIntegerField(_("服务商费用（分）"), default=0)
    # What the provider billed, as it reported it (amount and currency); set when it differs
    # from the cost booked above (over the cap, for units refused as sold twice, in another
    # currency): an operator takes it up with the provider.
    provider_claim = models.CharField(_("服务商账单"), max_length=64, blank=True)
    provider_claim_disputed = models.BooleanField(_("账单待核对"), default=False)
    refunded_fen = models.BigIntegerField(_("已退款（分）"), default=0)
    #: Paid back from the guarantee fund after the order finished (units found missing later).
    guarantee_paid_fen = models.BigIntegerField(_("保障金赔付（分）"), default=0)
    cancel_requested_at = models.DateTimeField(_("申请取消时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(charge_fen__gte=0), name="order_charge_nonneg"),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=models.F("charge_fen")),
                name="order_refund_within_charge",
            ),
            models.CheckConstraint(
                condition=Q(guarantee_paid_fen__gte=0)
                & Q(guarantee_paid_fen__lte=models.F("charge_fen") - models.F("refunded_fen")),
                name="order_guarantee_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(delivered__lte=models.F("quantity")), name="order_delivered_le_qty"
            ),
            # One provider order settles one customer order: the status sync looks orders up
            # by it, so a second order following it would never hear of its delivery.
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~Q(external_id=""),
                name="order_one_per_provider_order",
            ),
        ]
        indexes = [
            # The orders not sent to their provider yet: what each dispatch round (and the
            # sync's re-dispatch) looks for, without reading the whole table each time.
            models.Index(
                fields=["id"],
                condition=Q(status=OrderStatus.PENDING, external_id=""),
                name="order_awaiting_dispatch",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def units_charge_fen(self, units: int) -> int:
        """Return what ``units`` of the order cost the customer, within its charge.

        At the order's unit rate, rounded half-up once (``units × rate ÷ 1,000``), when the
        charge is the rate's price of the quantity; a bundle's line, charged a share of the
        bundle's price, pays that share prorated to the units.
        """
        if charge_fen(self.quantity, self.unit_rate) == self.charge_fen:
            return min(charge_fen(units, self.unit_rate), self.charge_fen)
        return prorate_fen(self.charge_fen, units, self.quantity)

    @property
    def paid_fen(self) -> int:
        """What the customer pays for the order: the charge less what was refunded."""
        return self.charge_fen - self.refunded_fen

    @property
    def progress_percent(self) -> int:
        return min(100, (100 * self.delivered) // self.quantity) if self.quantity else 0

    @property
    def refill_open(self) -> bool:
        """Whether a refill may be asked now: a refillable module, finished, within its days.

        (The 24-hour spacing between refills is the service's to check.)
        """
        module = self.module
        return (
            module.refill_allowed
            and self.status in (OrderStatus.COMPLETED, OrderStatus.PARTIAL)
            and self.finished_at is not None
            and timezone.now() <= self.finished_at + timedelta(days=module.refill_days)
        )


class OrderEvent(models.Model):
    """One recorded step of an order: every status transition and every money movement."""

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("类型"), max_length=30)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("订单事件")
        verbose_name_plural = _("订单事件")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.kind} {self.from_status}->{self.to_status}"


class Deliverable(models.Model):
    """What an order delivers beyond a count: a report's file, a video's link.

    Uploaded by an operator (or the provider's team through one), or handed over by the
    provider with its status answer (``source_url``); the customer downloads it from the order
    page. A file's SHA-256 is in the order's ``deliverable_added`` event, and so in the
    transparency log: the customer can check the file they hold is the one delivered.
    """

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.CASCADE, related_name="deliverables"
    )
    name = models.CharField(_("名称"), max_length=120)
    file = models.FileField(_("文件"), upload_to="deliverables/%Y/%m/", blank=True)
    url = models.URLField(_("链接"), max_length=500, blank=True)
    sha256 = models.CharField(_("文件校验值（SHA-256）"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    #: Set when an operator withdrew it (given by mistake): the customer no longer sees it.
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    #: Where the provider handed the file over (empty for an operator's upload): each of a
    #: provider's files is kept once per order however often its status is read.
    source_url = models.URLField(_("服务商文件地址"), max_length=500, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "交付物")
        verbose_name_plural = _("交付物")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(file="") & ~Q(url="")) | (~Q(file="") & Q(url="")),
                name="deliverable_file_or_link",
            ),
            models.UniqueConstraint(
                fields=["order", "source_url"],
                condition=~Q(source_url=""),
                name="deliverable_once_per_provider_file",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GuaranteeCause(models.TextChoices):
    """Why the guarantee fund paid a customer back (public: it goes into the log)."""

    DROPPED = "dropped", _("交付后掉量，未能补足")
    SHORT = "short_delivery", _("实际交付少于服务商报告")


class GuaranteePayout(models.Model):
    """Money the guarantee fund paid back for units of a finished order found missing later.

    An operator pays it (the order's admin page) once the shortfall is established; the
    customer sees it on the order page, in the wallet's statement and in the order's log.
    """

    order = models.ForeignKey(
        Order,
        verbose_name=_("订单"),
        on_delete=models.PROTECT,
        related_name="guarantee_payouts",
    )
    units = models.PositiveIntegerField(_("赔付数量"))
    amount_fen = models.BigIntegerField(_("赔付金额（分）"))
    cause = models.CharField(_("原因"), max_length=20, choices=GuaranteeCause.choices)
    #: Shown to the customer on the order page; kept out of the public log (free text).
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("赔付时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("保障金赔付")
        verbose_name_plural = pgettext_lazy("many", "保障金赔付")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gt=0) & Q(amount_fen__gt=0), name="guarantee_payout_positive"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} · {self.units}"


class RefillStatus(models.TextChoices):
    REQUESTED = "requested", _("已申请，等待提交服务商")
    SENT = "sent", _("已提交服务商，补足的数量由服务商交付")
    IN_PROGRESS = "in_progress", _("补量中")
    COMPLETED = "completed", _("已补足")
    REJECTED = "rejected", _("服务商拒绝补量")
    ERROR = "error", _("服务商补量出错")


#: A refill in one of these states changes no more.
REFILL_FINAL_STATUSES = (RefillStatus.COMPLETED, RefillStatus.REJECTED, RefillStatus.ERROR)


#: One refill request per order per this long.
REFILL_INTERVAL = timedelta(hours=24)


class Refill(models.Model):
    """A customer's refill request of a finished order, and what the provider made of it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refills")
    external_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=RefillStatus.choices, default=RefillStatus.REQUESTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: When the status sync last asked the provider (None: never); it asks the oldest first.
    checked_at = models.DateTimeField(null=True, blank=True)
    #: When a run of the refill task took it to send (see ``order_provider_refill``).
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "补量")
        verbose_name_plural = _("补量")

    @property
    def is_final(self) -> bool:
        """Whether the provider will do nothing more for this refill."""
        return self.status in REFILL_FINAL_STATUSES

    def __str__(self) -> str:
        return f"refill {self.pk} of #{self.order_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a request made with an ``Idempotency-Key``, replayed on retries."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # The answer's JSON text as first sent: PostgreSQL's jsonb would reorder its keys.
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = pgettext_lazy("many", "幂等记录")
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="idempotency_key_once")
        ]


class DispatchRound(models.Model):
    """One row: when a dispatch round was sent to the worker and not started yet (else null).

    Placing an order marks the round sent after commit and sends one only if none is waiting,
    so a burst of orders costs one task, not one each; a round clears the mark before it looks
    for orders, so an order committed later sends another (see ``services.order_dispatch_soon``).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("派单轮次")
        verbose_name_plural = pgettext_lazy("many", "派单轮次")

    def __str__(self) -> str:
        return f"dispatch round sent {self.sent_at}" if self.sent_at else "no dispatch round"
