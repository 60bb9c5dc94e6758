"""What operations should do about an alert: a rule table keyed by (kind, category, scope type), most specific
first; `*` matches anything. {scope}, {outlet}, {route} and {label} are filled from the alert."""
from __future__ import annotations

from logistics.tickets.complaints import COMPLAINT_LABEL

# Problems counted beside the complaint categories (tickets of other processes).
PROBLEM_LABEL = {
    "urge": "催派", "fresh_delay": "生鲜延误", "lost": "丢件调查", "signed_not_received": "签收未收到",
    "damaged": "破损", "claim": "理赔", "address_change": "改址", "handoff": "转人工", "callback": "客服回电",
    "outlet_verification": "网点核实", "track_parcel": "查件",
}


def label(category: str) -> str:
    return COMPLAINT_LABEL.get(category) or PROBLEM_LABEL.get(category) or category


RULES: tuple[tuple[str, str, str, str], ...] = (
    ("spike", "locker_no_notice", "*",
     "提醒网点完善派件通知 / 开启快递柜短信提醒：核查{outlet}近24小时入柜、入站件的通知记录，"
     "要求放柜/放驿站前电话或短信告知收件人"),
    ("*", "locker_no_notice", "*",
     "提醒网点完善派件通知 / 快递柜短信提醒：{scope}放柜未通知投诉集中，抽查入柜通知记录"),
    ("*", "fresh_delay", "route",
     "联动物流规划调整路由：{route}上生鲜件延误集中，评估改走时效更稳的线路或加开冷链直达班次，并排查该线路中转积压"),
    ("*", "fresh_delay", "*", "生鲜件优先处理：{scope}生鲜延误集中，安排优先分拣、优先派送并排查冷链交接"),
    ("*", "delay", "route", "联动物流规划核查{route}时效：排查中转积压与干线班次，必要时调整路由"),
    ("*", "delay", "hub", "中转场产能评估：{scope}延误集中，核查进港量与分拣能力，必要时分流"),
    ("*", "urge", "outlet", "网点运力评估：{outlet}催派工单集中，评估派件人手与排班，必要时临时增派运力"),
    ("*", "urge", "*", "派送运力评估：{scope}催派集中，核查网点积压并调配运力"),
    ("*", "no_door_delivery", "*", "督导{outlet}按约送货上门，抽查该片区快递员派送方式，必要时约谈"),
    ("*", "fake_signature", "*", "稽核{outlet}签收记录（签收照片、定位），对虚假签收追责并回访用户"),
    ("*", "fake_attempt", "*", "核查{outlet}派送失败记录与通话记录，杜绝未上门谎报派送失败"),
    ("*", "courier_attitude", "*", "{outlet}主管约谈相关快递员并开展服务规范培训，回访投诉用户"),
    ("*", "rough_handling", "*", "排查{scope}分拣/装卸环节，调取监控，加强易碎件操作规范"),
    ("*", "lost", "*", "对{scope}丢件做集中排查：核对交接扫描断点，调取监控"),
    ("*", "extra_fee", "*", "核查{outlet}收费行为：明令禁止派送环节额外收费，多收费用退还用户"),
    ("*", "no_call", "*", "要求{outlet}派送前电联收件人，抽查外呼记录"),
    ("*", "left_unattended", "*", "禁止{outlet}未经同意放门口，放门口前须征得收件人同意并拍照留证"),
    ("*", "pickup_code_missing", "*", "检查{scope}驿站/快递柜取件码短信通道是否故障，补发取件码"),
    ("*", "outlet_unreachable", "*", "核查{outlet}客服电话接通率，增加接听人手或公布备用联系方式"),
    ("*", "wrong_delivery", "*", "核查{outlet}地址分拣与派送核对流程，错投件当日追回"),
    ("*", "signed_not_received", "*", "稽核{outlet}签收与投放记录，核对代签、放柜流程"),
    ("*", "damaged", "*", "排查{scope}装卸与包装环节，加强易碎件防护"),
    ("*", "*", "*", "运营核查{scope}的「{label}」问题，找出原因并跟进整改"),
)


def suggest(kind: str, category: str, scope_type: str, *, scope: str, outlet: str | None = None,
            route: str | None = None) -> str:
    for rule_kind, rule_category, rule_scope, template in RULES:
        if rule_kind in ("*", kind) and rule_category in ("*", category) and rule_scope in ("*", scope_type):
            return template.format(scope=scope, outlet=outlet or scope, route=route or scope, label=label(category))
    raise AssertionError("the last rule matches everything")
