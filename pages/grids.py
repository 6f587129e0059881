"""网格与小区: grid party organizations and staffing; compounds' party organizations, 物业,
业委会, 示范小区 and 片长/组长/邻长."""

from ui.domain_page import Breakdown, DomainPage, FollowUp, render
from ui.state import current

_GRID_COLUMNS = {
    "grid_name": "网格", "grid_code": "网格代码", "district_name": "区县", "street_name": "街道", "community_name": "社区",
    "grid_party_org": "网格党组织", "grid_leader": "是否配备网格长", "fulltime_workers": "专职网格员数",
    "parttime_workers": "兼职网格员数", "households": "户数"}
_COMPOUND_COLUMNS = {
    "compound_name": "小区名称", "compound_id": "小区编号", "district_name": "区县", "street_name": "街道",
    "community_name": "社区", "households": "户数", "party_members_resident": "居住党员数",
    "party_org": "小区党组织", "property_service": "物业服务", "owners_committee": "是否成立业委会"}

PAGE = DomainPage(
    domain="grids",
    title="网格与小区",
    headline=["grid_party_org_rate", "grid_staffed_rate", "households_per_worker", "grids",
              "compound_build_rate", "property_coverage_rate", "owners_committee_rate",
              "model_compounds", "compounds_red_property", "heads_area", "heads_group",
              "heads_neighbor"],
    rank_keys=["grid_party_org_rate", "grid_staffed_rate", "grid_leader_rate",
               "households_per_worker", "compound_party_org_rate", "compound_build_rate",
               "property_coverage_rate", "owners_committee_rate", "heads_neighbor_per_100",
               "gap_grids_no_party_org", "gap_compounds_should_build",
               "gap_compounds_no_property"],
    trend_keys=["grid_party_org_rate", "compound_build_rate", "property_coverage_rate"],
    breakdowns=[Breakdown("grid_party_org", "grids", "网格党组织·网格数"),
                Breakdown("party_org", "compounds", "小区党组织·小区数"),
                Breakdown("property_service", "compounds", "物业服务·小区数")],
    follow_ups=[
        FollowUp("grids_no_party_org", "未建党组织网格", _GRID_COLUMNS),
        FollowUp("grids_unstaffed", "无网格员网格", _GRID_COLUMNS),
        FollowUp("compounds_should_build", "小区应建未建", _COMPOUND_COLUMNS),
        FollowUp("compounds_no_property", "无物业小区", _COMPOUND_COLUMNS),
    ],
)

render(*current(), PAGE)
