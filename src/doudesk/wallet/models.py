"""Double-entry journal in integer fen.

Every movement of money is one :class:`JournalEntry` whose :class:`Leg` amounts sum to zero.
A leg's ``amount_fen`` is positive for a credit and negative for a debit. An account's balance is
the sum of its legs, sign-flipped for debit-normal accounts (payment clearing), so every balance
reads as a positive number in normal use. ``Account.balance_fen`` is a cache of that sum kept by
``wallet.services`` in the same transaction as the legs; nothing else writes it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudesk.wallet.money import yuan_label


class AccountKind(models.TextChoices):
    CUSTOMER_CASH = "customer_cash", _("客户余额")
    CUSTOMER_HOLD = "customer_hold", _("客户冻结")
    PLATFORM_REVENUE = "platform_revenue", _("平台收入")
    PROVIDER_PAYABLE = "provider_payable", _("应付服务商")
    GUARANTEE_FUND = "guarantee_fund", _("保障金")
    PAYMENT_CLEARING = "payment_clearing", _("支付清算")


DEBIT_NORMAL = (AccountKind.PAYMENT_CLEARING,)
NON_NEGATIVE = (AccountKind.CUSTOMER_CASH, AccountKind.CUSTOMER_HOLD)


class Account(models.Model):
    code = models.CharField(_("代码"), max_length=80, unique=True)
    kind = models.CharField(_("类型"), max_length=30, choices=AccountKind.choices)
    customer = models.ForeignKey(
        "accounts.Customer",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    provider = models.ForeignKey(
        "providers.Provider",
        verbose_name=_("服务商"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    balance_fen = models.BigIntegerField(_("余额（分）"), default=0)

    class Meta:
        verbose_name = _("账户")
        verbose_name_plural = _("账户")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=[k.value for k in NON_NEGATIVE]) | Q(balance_fen__gte=0),
                name="customer_balances_never_negative",
            )
        ]

    def __str__(self) -> str:
        return self.code


class JournalEntry(models.Model):
    """One balanced movement; ``ref`` makes a movement happen at most once."""

    ref = models.CharField(_("业务编号"), max_length=120, unique=True)
    kind = models.CharField(_("类型"), max_length=30)
    memo = models.CharField(_("说明"), max_length=200, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("订单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("记账凭证")
        verbose_name_plural = _("记账凭证")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.ref}"


class Leg(models.Model):
    entry = models.ForeignKey(
        JournalEntry, verbose_name=_("记账凭证"), on_delete=models.PROTECT, related_name="legs"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("账户"), on_delete=models.PROTECT, related_name="legs"
    )
    amount_fen = models.BigIntegerField(_("金额（分）"))

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="leg_not_zero")]

    def __str__(self) -> str:
        return (
            f"{self.account.code} {'+' if self.amount_fen > 0 else ''}{yuan_label(self.amount_fen)}"
        )


class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("待支付")
    PAID = "paid", _("已到账")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")
    REVERSED = "reversed", _("已冲正")


class TopUp(models.Model):
    """A payment through a gateway; credited once when its signed callback says paid."""

    customer = models.ForeignKey(
        "accounts.Customer", verbose_name=_("客户"), on_delete=models.PROTECT
    )
    amount_fen = models.BigIntegerField(_("金额（分）"))
    gateway = models.CharField(_("支付渠道"), max_length=20, default="sandbox")
    out_trade_no = models.CharField(_("商户订单号"), max_length=40, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=TopUpStatus.choices, default=TopUpStatus.PENDING
    )
    gateway_txn = models.CharField(_("渠道流水号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    paid_at = models.DateTimeField(_("到账时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("充值")
        verbose_name_plural = _("充值")
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="topup_positive"),
            # A transfer credited by hand is credited once (wallet.services.topup_credit_manual).
            models.UniqueConstraint(
                fields=["gateway", "gateway_txn"],
                condition=Q(gateway="manual") & ~Q(status="reversed"),
                name="topup_manual_reference_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {yuan_label(self.amount_fen)} {self.status}"
