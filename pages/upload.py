import streamlit as st
st.title("数据上传")
