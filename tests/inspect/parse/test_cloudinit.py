from imgtools.inspect.parse.cloudinit import parse_cloud_config

CLOUD_CFG = """\
users:
   - default
disable_root: true
datasource_list: [ NoCloud, ConfigDrive, OpenStack, Ec2, None ]
datasource:
  Ec2:
    metadata_urls: [ 'http://169.254.169.254' ]
    timeout: 5
cloud_init_modules:
 - migrator
"""

HUAWEI_D = """\
datasource_list: [ OpenStack ]
datasource:
  OpenStack:
    metadata_urls: ['http://169.254.169.254/openstack']
    max_wait: 120
    timeout: 5
"""


def test_single_file():
    result = parse_cloud_config([("/etc/cloud/cloud.cfg", CLOUD_CFG)])
    assert result.datasources == ["NoCloud", "ConfigDrive", "OpenStack", "Ec2", "None"]
    assert result.metadata_urls == ["http://169.254.169.254"]
    assert result.network_config_disabled is None
    assert result.installed is False and result.version is None


def test_drop_ins_override_in_order():
    result = parse_cloud_config([
        ("/etc/cloud/cloud.cfg", CLOUD_CFG),
        ("/etc/cloud/cloud.cfg.d/90_huawei.cfg", HUAWEI_D),
        ("/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg", "network: {config: disabled}\n"),
    ])
    assert result.datasources == ["OpenStack"]
    # Ec2's settings are merged but no longer used
    assert result.metadata_urls == ["http://169.254.169.254/openstack"]
    assert result.network_config_disabled is True


def test_string_datasource_list_and_broken_files():
    result = parse_cloud_config([
        ("/etc/cloud/cloud.cfg", "datasource_list: 'ConfigDrive, OpenStack'\n"),
        ("/etc/cloud/cloud.cfg.d/broken.cfg", "datasource_list: [\n"),
        ("/etc/cloud/cloud.cfg.d/list.cfg", "- not a mapping\n"),
        ("/etc/cloud/cloud.cfg.d/net.cfg", "network:\n  version: 1\n  config:\n    - type: physical\n"),
    ])
    assert result.datasources == ["ConfigDrive", "OpenStack"]
    assert result.network_config_disabled is False


def test_nothing_configured():
    result = parse_cloud_config([])
    assert result.datasources is None and result.metadata_urls == [] and result.network_config_disabled is None
